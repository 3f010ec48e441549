import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import { useAuth } from "./useAuth";
import EyeIcon from "../icons/eye.svg?react";
import EyeOffIcon from "../icons/eye-off.svg?react";

// notes: 0

const MIN_PASSWORD_LENGTH = 12;

export function LoginForm() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const { login, error, busy } = useAuth();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [visible, setVisible] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (await login(email.trim(), password)) navigate("/account");
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-describedby={error ? "login-error" : undefined}>
      <h1>{t("login.title")}</h1>
      <label htmlFor="email">{t("login.email")}</label>
      <input
        id="email"
        type="email"
        autoComplete="username"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        required
      />
      <label htmlFor="password">{t("login.password")}</label>
      <div className="password-field">
        <input
          id="password"
          type={visible ? "text" : "password"}
          autoComplete="current-password"
          minLength={MIN_PASSWORD_LENGTH}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        <button
          type="button"
          onClick={() => setVisible((v) => !v)}
          aria-label={visible ? t("login.hidePassword") : t("login.showPassword")}
        >
          {visible ? <EyeOffIcon /> : <EyeIcon />}
        </button>
      </div>
      {error && (
        <p id="login-error" role="alert">
          {t(error)}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {t("login.submit")}
      </button>
      <Link to="/reset-password">{t("login.forgotPassword")}</Link>
    </form>
  );
}
