const { pad2 } = require("./pad.js");

function formatClock(seconds) {
  return pad2(Math.floor(seconds / 60)) + ":" + pad2(seconds % 60);
}

module.exports = { formatClock };
