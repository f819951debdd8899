const test = require("node:test");
const assert = require("node:assert");
const { countVowels } = require("./vowels.js");

test("mixed case", () => {
  assert.strictEqual(countVowels("Hello World"), 3);
  assert.strictEqual(countVowels("AEIOU aeiou"), 10);
});

test("none", () => {
  assert.strictEqual(countVowels("rhythm"), 0);
  assert.strictEqual(countVowels(""), 0);
});
