function parseQuery(query) {
  // "a=1&b=two" -> { a: "1", b: "two" }
  throw new Error("not implemented");
}

module.exports = { parseQuery };
