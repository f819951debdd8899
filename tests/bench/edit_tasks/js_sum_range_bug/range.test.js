const test = require("node:test");
const assert = require("node:assert");
const { sumRange } = require("./range.js");

test("both ends included", () => {
  assert.strictEqual(sumRange(1, 4), 10);
});

test("a single number", () => {
  assert.strictEqual(sumRange(5, 5), 5);
});

test("an empty range", () => {
  assert.strictEqual(sumRange(3, 2), 0);
});
