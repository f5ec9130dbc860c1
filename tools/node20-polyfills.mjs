// vitest 5's reporter calls Map.groupBy (Node ≥ 21). On Node 20 a failing test would crash the reporter and hide
// the failure message, so we provide it here, in vitest's main process.
if (typeof Map.groupBy !== 'function') {
  Map.groupBy = function groupBy(items, key) {
    const map = new Map();
    let i = 0;
    for (const item of items) {
      const k = key(item, i++);
      const list = map.get(k);
      if (list) list.push(item);
      else map.set(k, [item]);
    }
    return map;
  };
}
