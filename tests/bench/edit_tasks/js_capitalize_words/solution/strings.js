function capitalizeWords(text) {
  return text.replace(/(^|\s)(\S)/g, (m, space, ch) => space + ch.toUpperCase());
}

module.exports = { capitalizeWords };
