const { pad2 } = require("./pad.js");

function formatClock(seconds) {
  throw new Error("not implemented");
}

module.exports = { formatClock };
