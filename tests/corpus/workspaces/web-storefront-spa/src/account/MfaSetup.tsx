import styled from "styled-components";
import { useTranslation } from "react-i18next";

// notes: 0

const Panel = styled.section`
  max-width: 32rem;
  padding: 1.5rem;
  border: 1px solid var(--border);
  border-radius: 0.75rem;
`;

const Instructions = styled.ol`
  margin: 1rem 0;
  padding-left: 1.25rem;
  line-height: 1.6;
`;

export function MfaSetup({ qrSvg, manualCode }: { qrSvg: string; manualCode: string }) {
  const { t } = useTranslation();
  return (
    <Panel>
      <h2>{t("mfa.title")}</h2>
      <Instructions>
        <li>{t("mfa.step.install")}</li>
        <li>{t("mfa.step.scan")}</li>
      </Instructions>
      <div dangerouslySetInnerHTML={{ __html: qrSvg }} aria-label={t("mfa.qrLabel")} />
      <p>
        {t("mfa.manual")} <code>{manualCode}</code>
      </p>
    </Panel>
  );
}
