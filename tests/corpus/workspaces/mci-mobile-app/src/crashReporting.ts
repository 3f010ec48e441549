import * as Sentry from "@sentry/react-native";
import Config from "react-native-config";

// DSNs are not secrets (they only allow sending events), but we still keep them
// in .env.production so staging and production report to different projects.
export function initCrashReporting() {
  if (!Config.SENTRY_DSN) {
    return;
  }
  Sentry.init({
    dsn: Config.SENTRY_DSN,
    environment: Config.APP_ENV ?? "development",
    tracesSampleRate: 0.1,
    sendDefaultPii: false,
    beforeSend(event) {
      // Strip e-mail addresses the user typed into search fields.
      if (event.request?.query_string) {
        event.request.query_string = String(event.request.query_string).replace(/[^\s@]+@[^\s@]+/g, "[email]");
      }
      return event;
    },
  });
}
// notes: 0
