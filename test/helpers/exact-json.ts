/**
 * JSON text compared exactly, numbers included: `canonicalJson` re-prints a
 * JSON document with every string in JSON.stringify's escaping (Go escapes
 * `<`, `>`, `&`, U+2028 and U+2029 as \u003c..., JS does not) and everything
 * else - numbers' digits, key order, structure - exactly as written. Unlike
 * JSON.stringify(JSON.parse(text)), an int64 such as 9223372036854775807
 * keeps its digits.
 */
export function canonicalJson(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 /* \ */ ? 2 : 1;
      out += JSON.stringify(JSON.parse(text.slice(i, j + 1)) as string);
      i = j + 1;
    } else if (c === 32 || c === 10 || c === 13 || c === 9) {
      i++;
    } else {
      let j = i + 1;
      while (j < n && !/[\s"]/.test(text[j])) j++;
      out += text.slice(i, j);
      i = j;
    }
  }
  return out;
}
