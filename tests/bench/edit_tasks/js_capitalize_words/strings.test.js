const test = require("node:test");
const assert = require("node:assert");
const { capitalizeWords } = require("./strings.js");

test("capitalizes every word", () => {
  assert.strictEqual(capitalizeWords("hello big world"), "Hello Big World");
});

test("keeps the rest as it is", () => {
  assert.strictEqual(capitalizeWords("iPhone and macOS"), "IPhone And MacOS");
});

test("empty text", () => {
  assert.strictEqual(capitalizeWords(""), "");
});
