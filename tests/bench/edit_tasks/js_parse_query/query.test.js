const test = require("node:test");
const assert = require("node:assert");
const { parseQuery } = require("./query.js");

test("pairs", () => {
  assert.deepStrictEqual(parseQuery("a=1&b=two"), { a: "1", b: "two" });
});

test("escapes decoded", () => {
  assert.deepStrictEqual(parseQuery("name=Jane%20Doe&city=K%C3%B6ln"), { name: "Jane Doe", city: "Köln" });
});

test("empty", () => {
  assert.deepStrictEqual(parseQuery(""), {});
});
