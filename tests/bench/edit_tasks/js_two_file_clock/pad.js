function pad2(n) {
  // 7 -> "07", 42 -> "42"
  return String(n).padStart(2, "0");
}

module.exports = { pad2 };
