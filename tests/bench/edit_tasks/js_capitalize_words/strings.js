function capitalizeWords(text) {
  // "hello big world" -> "Hello Big World"
  throw new Error("not implemented");
}

module.exports = { capitalizeWords };
