require ["fileinto", "imap4flags"];

# Delivery status notifications go to their own folder for the weekly bounce review.
if header :contains "content-type" "multipart/report" {
  fileinto "Bounces";
  stop;
}

# Seed copies of our own newsletters.
if exists "list-unsubscribe" {
  fileinto "Newsletter seeds";
  stop;
}
