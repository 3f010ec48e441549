# Out-of-office auto-reply for support@ during the Easter closure.
# Managed by the support lead; deploy with `sieve-connect --upload`.
require ["vacation", "date", "relational", "variables"];

if allof (currentdate :value "ge" "date" "2026-04-03",
          currentdate :value "le" "date" "2026-04-06") {
  # Never auto-reply to lists, bounces or other robots.
  if anyof (exists "list-id",
            exists "list-unsubscribe",
            header :contains "auto-submitted" "auto-",
            header :is "precedence" ["bulk", "list", "junk"]) {
    stop;
  }
  vacation
    :days 3
    :subject "We're closed for Easter (back on 7 April)"
    :from "support@lumen-books.example"
    "Hello,

Thanks for your message. Our team is away from 3 to 6 April and will
reply from Tuesday 7 April in the order we received your emails.

To reset your password, use the Forgot password? link on the sign-in
page; you don't need to contact us for that. We will never ask you for
your password or a one-time code.

Lumen Books Support";
}
