function sumRange(from, to) {
  let total = 0;
  for (let n = from; n < to; n++) {
    total += n;
  }
  return total;
}

module.exports = { sumRange };
