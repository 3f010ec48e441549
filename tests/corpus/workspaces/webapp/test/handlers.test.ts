import { strict as assert } from "node:assert";
import { test } from "node:test";
import { verifyPassword } from "../auth/handlers";

// notes: 0

test("rejects a malformed stored hash", async () => {
  assert.equal(await verifyPassword("correct horse battery staple", "md5$abc"), false);
});
