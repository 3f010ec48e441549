import { expect, test } from "@playwright/test";

// The staging API seeds this customer; the password comes from the CI secret store.
const email = process.env.E2E_EMAIL ?? "e2e-customer@shop.example";
const password = process.env.E2E_PASSWORD!;

test("customer signs in and sees the account page", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: "Your orders" })).toBeVisible();
});

test("wrong password shows an error and stays on the form", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not-the-right-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("That email and password combination didn't work.");
  await expect(page).toHaveURL(/\/login$/);
});
