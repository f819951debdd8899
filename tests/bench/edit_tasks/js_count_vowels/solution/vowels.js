function countVowels(text) {
  return (text.match(/[aeiou]/gi) || []).length;
}

module.exports = { countVowels };
