const test = require("node:test");
const assert = require("node:assert");
const { formatClock } = require("./clock.js");

test("under a minute", () => {
  assert.strictEqual(formatClock(7), "00:07");
});

test("minutes and seconds", () => {
  assert.strictEqual(formatClock(125), "02:05");
});

test("long", () => {
  assert.strictEqual(formatClock(3599), "59:59");
});
