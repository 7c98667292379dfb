// kiln-text-1: the text-preprocessing spec (docs/preprocessing.md) in
// JavaScript, the twin of services/text/ in C++. Both must turn every text
// into the same tokens and ids: tests/golden/text-vectors.json and the
// whole-corpus parity test hold them to it.
//
// Written as ES5 (plus the export line at the very end) so that it runs
// unchanged in old mobile browsers, and as plain top-level declarations so
// that a model bundle can inline it as a classic script by dropping that
// line. Keep it free of dependencies.

var SPEC_VERSION = 'kiln-text-1';
var EMAIL_TOKEN = '<email>';
var URL_TOKEN = '<url>';
var NUMBER_TOKEN = '<num>';
var MIN_PLACEHOLDER_DIGITS = 5;
var PADDING_ID = 0;
var UNKNOWN_ID = 1;
var PADDING_WORD = '<pad>';
var UNKNOWN_WORD = '<oov>';

// ASCII classes, as in services/text/cleaner.cc.
var KILN_ALNUM = 1;     // a-z A-Z 0-9: the token alphabet
var KILN_ADDRESS = 2;   // e-mail local part: alnum and . _ % + -
var KILN_URL_CHAR = 4;  // URL continuation: address chars and ~ : / ? # @ $ & =
var KILN_LABEL = 8;     // domain label: alnum and -
var KILN_LETTER = 16;   // a-z A-Z: the only characters a URL can start with

var KILN_ASCII_FLAGS = (function () {
  var flags = [];
  for (var c = 0; c < 128; c++) {
    var ch = String.fromCharCode(c);
    var f = 0;
    if (c >= 48 && c <= 57) {
      f = KILN_ALNUM | KILN_ADDRESS | KILN_URL_CHAR | KILN_LABEL;
    } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      f = KILN_ALNUM | KILN_ADDRESS | KILN_URL_CHAR | KILN_LABEL | KILN_LETTER;
    } else if ('._%+'.indexOf(ch) >= 0) {
      f = KILN_ADDRESS | KILN_URL_CHAR;
    } else if (ch === '-') {
      f = KILN_ADDRESS | KILN_URL_CHAR | KILN_LABEL;
    } else if ('~:/?#@$&='.indexOf(ch) >= 0) {
      f = KILN_URL_CHAR;
    }
    flags.push(f);
  }
  return flags;
})();

// The fold table of docs/preprocessing.md: [first, last, letters].
var KILN_FOLD = (function () {
  var ranges = [
    [0xC0, 0xC5, 'a'], [0xC6, 0xC6, 'ae'], [0xC7, 0xC7, 'c'],
    [0xC8, 0xCB, 'e'], [0xCC, 0xCF, 'i'], [0xD0, 0xD0, 'd'],
    [0xD1, 0xD1, 'n'], [0xD2, 0xD6, 'o'], [0xD8, 0xD8, 'o'],
    [0xD9, 0xDC, 'u'], [0xDD, 0xDD, 'y'], [0xDE, 0xDE, 'th'],
    [0xDF, 0xDF, 'ss'], [0xE0, 0xE5, 'a'], [0xE6, 0xE6, 'ae'],
    [0xE7, 0xE7, 'c'], [0xE8, 0xEB, 'e'], [0xEC, 0xEF, 'i'],
    [0xF0, 0xF0, 'd'], [0xF1, 0xF1, 'n'], [0xF2, 0xF6, 'o'],
    [0xF8, 0xF8, 'o'], [0xF9, 0xFC, 'u'], [0xFD, 0xFD, 'y'],
    [0xFE, 0xFE, 'th'], [0xFF, 0xFF, 'y'], [0x100, 0x105, 'a'],
    [0x106, 0x10D, 'c'], [0x10E, 0x111, 'd'], [0x112, 0x11B, 'e'],
    [0x11C, 0x123, 'g'], [0x124, 0x127, 'h'], [0x128, 0x131, 'i'],
    [0x132, 0x133, 'ij'], [0x134, 0x135, 'j'], [0x136, 0x138, 'k'],
    [0x139, 0x142, 'l'], [0x143, 0x14B, 'n'], [0x14C, 0x151, 'o'],
    [0x152, 0x153, 'oe'], [0x154, 0x159, 'r'], [0x15A, 0x161, 's'],
    [0x162, 0x167, 't'], [0x168, 0x173, 'u'], [0x174, 0x175, 'w'],
    [0x176, 0x178, 'y'], [0x179, 0x17E, 'z'], [0x17F, 0x17F, 's']
  ];
  var fold = [];
  for (var r = 0; r < ranges.length; r++) {
    for (var c = ranges[r][0]; c <= ranges[r][1]; c++) fold[c] = ranges[r][2];
  }
  return fold;
})();

function kilnFlagsAt(text, i) {
  var c = text.charCodeAt(i);
  return c < 128 ? KILN_ASCII_FLAGS[c] : 0;
}

// Soft hyphen and combining diacritics vanish without ending the token.
function kilnIsIgnored(c) {
  return c === 0xAD || (c >= 0x300 && c <= 0x36F);
}

// Whether `prefix` (lower-case ASCII) is at text[i], ignoring the case of
// ASCII letters only (toLowerCase would also fold U+212A KELVIN SIGN to k).
function kilnStartsWithCaseless(text, i, prefix) {
  if (i + prefix.length > text.length) return false;
  for (var k = 0; k < prefix.length; k++) {
    var c = text.charCodeAt(i + k);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== prefix.charCodeAt(k)) return false;
  }
  return true;
}

// A URL starting at i (an ASCII letter that does not follow an alnum):
// returns its end, or -1.
function kilnMatchUrl(text, i) {
  var prefixes = ['http://', 'https://', 'ftp://', 'www.'];
  for (var k = 0; k < prefixes.length; k++) {
    if (!kilnStartsWithCaseless(text, i, prefixes[k])) continue;
    var j = i + prefixes[k].length;
    if (j === text.length || !(kilnFlagsAt(text, j) & KILN_ALNUM)) return -1;
    while (j < text.length && (kilnFlagsAt(text, j) & KILN_URL_CHAR)) j++;
    return j;
  }
  return -1;
}

// An e-mail address whose local part starts at i and whose '@' is at `at`
// (the first '@' at or after i): returns its end, or -1.
function kilnMatchEmail(text, i, at) {
  while (i < at && (kilnFlagsAt(text, i) & KILN_ADDRESS)) i++;
  if (i !== at) return -1;
  var j = at + 1;
  var labels = 0;
  for (;;) {
    var labelStart = j;
    while (j < text.length && (kilnFlagsAt(text, j) & KILN_LABEL)) j++;
    if (j === labelStart) return -1;
    labels++;
    // A dot continues the domain only when a label follows it.
    if (j + 1 < text.length && text.charCodeAt(j) === 46 &&
        (kilnFlagsAt(text, j + 1) & KILN_LABEL)) {
      j++;
      continue;
    }
    break;
  }
  return labels >= 2 ? j : -1;
}

function kilnIsLongNumber(token) {
  if (token.length < MIN_PLACEHOLDER_DIGITS) return false;
  for (var i = 0; i < token.length; i++) {
    var c = token.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

// The tokens of `text` (a string) as an array of strings.
function tokenize(text) {
  var tokens = [];
  var token = '';
  var n = text.length;
  // The next '@' at or after i, or n: see kilnMatchEmail.
  var nextAt = text.indexOf('@');
  if (nextAt < 0) nextAt = n;

  function endToken() {
    if (token === '') return;
    tokens.push(kilnIsLongNumber(token) ? NUMBER_TOKEN : token);
    token = '';
  }

  var i = 0;
  while (i < n) {
    var c = text.charCodeAt(i);
    if (c < 128) {
      var flags = KILN_ASCII_FLAGS[c];
      if (flags & KILN_ADDRESS) {
        var prev = i === 0 ? 0 : kilnFlagsAt(text, i - 1);
        if ((flags & KILN_LETTER) && !(prev & KILN_ALNUM)) {
          var urlEnd = kilnMatchUrl(text, i);
          if (urlEnd >= 0) {
            endToken();
            tokens.push(URL_TOKEN);
            i = urlEnd;
            continue;
          }
        }
        if (!(prev & KILN_ADDRESS) && nextAt !== n) {
          if (nextAt < i) {
            nextAt = text.indexOf('@', i);
            if (nextAt < 0) nextAt = n;
          }
          if (nextAt !== n) {
            var emailEnd = kilnMatchEmail(text, i, nextAt);
            if (emailEnd >= 0) {
              endToken();
              tokens.push(EMAIL_TOKEN);
              i = emailEnd;
              continue;
            }
          }
        }
      }
      if (flags & KILN_ALNUM) {
        var start = i;
        do {
          i++;
        } while (i < n && (kilnFlagsAt(text, i) & KILN_ALNUM));
        // The run is ASCII only, where toLowerCase is exact.
        token += text.substring(start, i).toLowerCase();
        continue;
      }
      endToken();
    } else if (c < 0x180 && KILN_FOLD[c] !== undefined) {
      token += KILN_FOLD[c];
    } else if (!kilnIsIgnored(c)) {
      // Everything else, lone surrogates and both halves of astral
      // characters included, separates tokens.
      endToken();
    }
    i++;
  }
  endToken();
  return tokens;
}

// The cleaned text: the tokens separated by single spaces.
function cleanText(text) {
  return tokenize(text).join(' ');
}

// The lookup object for encode from vocab.json's "words" (index = id).
function buildVocabIndex(words) {
  if (words.length < 2 || words[PADDING_ID] !== PADDING_WORD ||
      words[UNKNOWN_ID] !== UNKNOWN_WORD) {
    throw new Error('a vocabulary starts with "' + PADDING_WORD + '" and "' +
                    UNKNOWN_WORD + '"');
  }
  // No prototype, so that no token can hit an inherited property.
  var index = Object.create(null);
  for (var id = 2; id < words.length; id++) index[words[id]] = id;
  return index;
}

// The ids of the first maxLength tokens, then PADDING_ID up to maxLength.
function encode(tokens, vocabIndex, maxLength) {
  if (typeof maxLength !== 'number' || maxLength < 1 || maxLength % 1 !== 0) {
    throw new RangeError('maxLength must be a positive integer, got ' + maxLength);
  }
  var ids = [];
  var kept = Math.min(tokens.length, maxLength);
  for (var i = 0; i < kept; i++) {
    var id = vocabIndex[tokens[i]];
    ids.push(id === undefined ? UNKNOWN_ID : id);
  }
  while (ids.length < maxLength) ids.push(PADDING_ID);
  return ids;
}

function encodeText(text, vocabIndex, maxLength) {
  return encode(tokenize(text), vocabIndex, maxLength);
}

// TF-IDF features (docs/preprocessing.md, section 6) of encoded `ids`, with
// `idf` indexed by id (an array of numbers, e.g. idf.json's "idf", or a
// Float32Array). Returns {ids, values}: the distinct word ids in increasing
// order and their float32 features; {ids: [], values: []} for a text without
// a known word. Every step is the float64 arithmetic of services/text/tfidf.cc.
function tfidfFeatures(ids, idf) {
  var words = [];
  for (var i = 0; i < ids.length; i++) {
    if (ids[i] < PADDING_ID || ids[i] >= idf.length || ids[i] % 1 !== 0) {
      throw new RangeError('id ' + ids[i] + ' is not in the idf table of ' + idf.length + ' ids');
    }
    if (ids[i] > UNKNOWN_ID) words.push(ids[i]);
  }
  words.sort(function (a, b) { return a - b; });
  // idf.json holds the shortest decimal of each float32; C++ computes with
  // the float32 itself, so round first.
  var float32 = new Float32Array(1);
  var featureIds = [];
  var weights = [];
  var squares = 0;
  for (var start = 0; start < words.length;) {
    var next = start;
    while (next < words.length && words[next] === words[start]) next++;
    float32[0] = idf[words[start]];
    var weight = (1 + Math.log(next - start)) * float32[0];
    featureIds.push(words[start]);
    weights.push(weight);
    squares += weight * weight;
    start = next;
  }
  if (squares === 0) return { ids: [], values: new Float32Array(0) };
  var norm = Math.sqrt(squares);
  // Storing into a Float32Array rounds to nearest, like static_cast<float>.
  var values = new Float32Array(weights.length);
  for (var k = 0; k < weights.length; k++) values[k] = weights[k] / norm;
  return { ids: featureIds, values: values };
}

// The dense form of tfidfFeatures' result: a Float32Array of `size` (the
// vocabulary size, the tfidf model's input width), zero but at its ids.
function denseFeatures(features, size) {
  var dense = new Float32Array(size);
  for (var i = 0; i < features.ids.length; i++) dense[features.ids[i]] = features.values[i];
  return dense;
}

export { SPEC_VERSION, EMAIL_TOKEN, URL_TOKEN, NUMBER_TOKEN, PADDING_ID, UNKNOWN_ID, PADDING_WORD, UNKNOWN_WORD, cleanText, tokenize, buildVocabIndex, encode, encodeText, tfidfFeatures, denseFeatures };
