"use client";

import { signIn } from "next-auth/react";
import { useTranslations } from "next-intl";
import { useState, type FormEvent } from "react";

// notes: 0

export default function LoginPage() {
  const t = useTranslations("Login");
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const res = await signIn("credentials", {
      email: form.get("email"),
      password: form.get("password"),
      redirect: false,
    });
    if (res?.error) setError(res.error === "CredentialsSignin" ? "invalid" : "unknown");
    else window.location.assign("/account");
  }

  return (
    <form onSubmit={onSubmit} className="mx-auto max-w-sm space-y-4">
      <h1 className="text-2xl font-semibold">{t("title")}</h1>
      <label className="block">
        {t("email")}
        <input name="email" type="email" autoComplete="username" required className="input" />
      </label>
      <label className="block">
        {t("password")}
        <input name="password" type="password" autoComplete="current-password" required className="input" />
      </label>
      {error && <p role="alert" className="text-red-700">{t(`errors.${error}`)}</p>}
      <button type="submit" className="btn-primary w-full">{t("submit")}</button>
      <button type="button" onClick={() => signIn("github")} className="btn-secondary w-full">
        {t("github")}
      </button>
    </form>
  );
}
