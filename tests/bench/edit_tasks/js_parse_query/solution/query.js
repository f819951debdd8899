function parseQuery(query) {
  const out = {};
  if (!query) return out;
  for (const pair of query.split("&")) {
    const [k, v = ""] = pair.split("=");
    out[decodeURIComponent(k)] = decodeURIComponent(v);
  }
  return out;
}

module.exports = { parseQuery };
