#include "services/text/cleaner.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "services/text/spec.h"

namespace kiln::text {
namespace {

// ASCII byte classes. Bytes >= 0x80 have no flag, so "the previous byte is
// not in class X" is one table lookup even when it belongs to a multi-byte
// sequence (all classes are ASCII-only).
enum : uint8_t {
  kAlnum = 1,    // a-z A-Z 0-9: the token alphabet
  kAddress = 2,  // e-mail local part: alnum and . _ % + -
  kUrlChar = 4,  // URL continuation: address chars and ~ : / ? # @ $ & =
  kLabel = 8,    // domain label: alnum and -
  kUrlStart = 16,  // h f w, either case: the first letters of URL prefixes
};

// What a code point in U+0080..U+037F (the two-byte UTF-8 sequences the
// scanner decodes) contributes.
enum class Kind : uint8_t { kSeparator, kFold, kIgnored };
struct TwoByte {
  Kind kind = Kind::kSeparator;
  char first = 0;
  char second = 0;  // 0 when the fold is one letter
};

constexpr uint32_t kTwoByteFirst = 0x80;
constexpr uint32_t kTwoByteLast = 0x37F;

struct FoldRange {
  uint32_t first;
  uint32_t last;
  const char* letters;
};

// The fold table of docs/preprocessing.md; clients/text/kiln-text.js holds
// the same list.
constexpr FoldRange kFoldRanges[] = {
    {0xC0, 0xC5, "a"},   {0xC6, 0xC6, "ae"},  {0xC7, 0xC7, "c"},
    {0xC8, 0xCB, "e"},   {0xCC, 0xCF, "i"},   {0xD0, 0xD0, "d"},
    {0xD1, 0xD1, "n"},   {0xD2, 0xD6, "o"},   {0xD8, 0xD8, "o"},
    {0xD9, 0xDC, "u"},   {0xDD, 0xDD, "y"},   {0xDE, 0xDE, "th"},
    {0xDF, 0xDF, "ss"},  {0xE0, 0xE5, "a"},   {0xE6, 0xE6, "ae"},
    {0xE7, 0xE7, "c"},   {0xE8, 0xEB, "e"},   {0xEC, 0xEF, "i"},
    {0xF0, 0xF0, "d"},   {0xF1, 0xF1, "n"},   {0xF2, 0xF6, "o"},
    {0xF8, 0xF8, "o"},   {0xF9, 0xFC, "u"},   {0xFD, 0xFD, "y"},
    {0xFE, 0xFE, "th"},  {0xFF, 0xFF, "y"},   {0x100, 0x105, "a"},
    {0x106, 0x10D, "c"}, {0x10E, 0x111, "d"}, {0x112, 0x11B, "e"},
    {0x11C, 0x123, "g"}, {0x124, 0x127, "h"}, {0x128, 0x131, "i"},
    {0x132, 0x133, "ij"}, {0x134, 0x135, "j"}, {0x136, 0x138, "k"},
    {0x139, 0x142, "l"}, {0x143, 0x14B, "n"}, {0x14C, 0x151, "o"},
    {0x152, 0x153, "oe"}, {0x154, 0x159, "r"}, {0x15A, 0x161, "s"},
    {0x162, 0x167, "t"}, {0x168, 0x173, "u"}, {0x174, 0x175, "w"},
    {0x176, 0x178, "y"}, {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},
};

// Deleted without ending the token: soft hyphen and combining diacritics,
// so that decomposed "e" + U+0301 reads like precomposed U+00E9.
constexpr FoldRange kIgnoredRanges[] = {
    {0xAD, 0xAD, ""},
    {0x300, 0x36F, ""},
};

struct Tables {
  uint8_t flags[256] = {};
  char lower[256] = {};  // the lower-cased alnum byte, 0 otherwise
  TwoByte two_byte[kTwoByteLast - kTwoByteFirst + 1] = {};
};

constexpr bool Contains(const char* set, char c) {
  for (; *set != '\0'; ++set) {
    if (*set == c) return true;
  }
  return false;
}

constexpr Tables MakeTables() {
  Tables t;
  for (int b = 0; b < 128; ++b) {
    const char c = static_cast<char>(b);
    const bool digit = c >= '0' && c <= '9';
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    uint8_t flags = 0;
    if (digit || upper || lower) {
      flags = kAlnum | kAddress | kUrlChar | kLabel;
      if (Contains("hfwHFW", c)) flags |= kUrlStart;
      t.lower[b] = upper ? static_cast<char>(c - 'A' + 'a') : c;
    } else if (Contains("._%+", c)) {
      flags = kAddress | kUrlChar;
    } else if (c == '-') {
      flags = kAddress | kUrlChar | kLabel;
    } else if (Contains("~:/?#@$&=", c)) {
      flags = kUrlChar;
    }
    t.flags[b] = flags;
  }
  for (const FoldRange& range : kFoldRanges) {
    for (uint32_t cp = range.first; cp <= range.last; ++cp) {
      TwoByte& entry = t.two_byte[cp - kTwoByteFirst];
      entry.kind = Kind::kFold;
      entry.first = range.letters[0];
      entry.second = range.letters[1];
    }
  }
  for (const FoldRange& range : kIgnoredRanges) {
    for (uint32_t cp = range.first; cp <= range.last; ++cp) {
      t.two_byte[cp - kTwoByteFirst].kind = Kind::kIgnored;
    }
  }
  return t;
}

constexpr Tables kTables = MakeTables();

inline bool Has(unsigned char byte, uint8_t flag) {
  return (kTables.flags[byte] & flag) != 0;
}

using Byte = unsigned char;

// Matches `prefix` (lower-case ASCII) at p, ignoring the case of letters.
bool StartsWithCaseless(const Byte* p, const Byte* end, std::string_view prefix) {
  if (static_cast<size_t>(end - p) < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (p[i] != static_cast<Byte>(prefix[i]) && kTables.lower[p[i]] != prefix[i]) {
      return false;
    }
  }
  return true;
}

// A URL at p (an ASCII letter that does not follow an alnum): returns its
// end, or nullptr.
const Byte* MatchUrl(const Byte* p, const Byte* end) {
  size_t prefix_size = 0;
  switch (kTables.lower[*p]) {
    case 'h':
      if (StartsWithCaseless(p, end, "http://")) prefix_size = 7;
      if (StartsWithCaseless(p, end, "https://")) prefix_size = 8;
      break;
    case 'f':
      if (StartsWithCaseless(p, end, "ftp://")) prefix_size = 6;
      break;
    case 'w':
      if (StartsWithCaseless(p, end, "www.")) prefix_size = 4;
      break;
  }
  if (prefix_size == 0) return nullptr;
  const Byte* q = p + prefix_size;
  if (q == end || !Has(*q, kAlnum)) return nullptr;
  while (q != end && Has(*q, kUrlChar)) ++q;
  return q;
}

// The domain of an e-mail address whose '@' is at `at`: returns its end, or
// nullptr when fewer than two labels follow.
const Byte* MatchDomain(const Byte* at, const Byte* end) {
  const Byte* q = at + 1;
  int labels = 0;
  while (true) {
    const Byte* label_start = q;
    while (q != end && Has(*q, kLabel)) ++q;
    if (q == label_start) return nullptr;  // "@" or "." with no label after
    ++labels;
    // A dot continues the domain only when a label follows it; otherwise it
    // is the sentence's full stop.
    if (q + 1 < end && *q == '.' && Has(q[1], kLabel)) {
      ++q;
      continue;
    }
    break;
  }
  return labels >= 2 ? q : nullptr;
}

const Byte* FindAt(const Byte* p, const Byte* end) {
  if (p == end) return end;  // p may be null for an empty view
  const void* at = std::memchr(p, '@', static_cast<size_t>(end - p));
  return at == nullptr ? end : static_cast<const Byte*>(at);
}

// Where the local part of an e-mail whose '@' is `at` would start: the start
// of the run of address bytes that ends at `at`, never before `floor`.
// Equals `at` when no address byte precedes it (no e-mail possible).
const Byte* LocalPartStart(const Byte* floor, const Byte* at, const Byte* end) {
  if (at == end) return end;
  const Byte* start = at;
  while (start != floor && Has(start[-1], kAddress)) --start;
  return start;
}

void AppendTo(char*& out, std::string_view s) {
  std::memcpy(out, s.data(), s.size());
  out += s.size();
}

bool IsAllDigits(const char* begin, const char* end) {
  for (; begin != end; ++begin) {
    if (*begin < '0' || *begin > '9') return false;
  }
  return true;
}

// The fast path: 64 bytes at a time, classified into bit masks, for the
// common stretches of plain ASCII prose where tokens are exactly the alnum
// runs. It takes a block up to where a rule looking beyond one alnum run
// (e-mail, URL, non-ASCII) might apply; see TakeBlock.
constexpr size_t kBlock = 64;

struct BlockMasks {
  // Bit i stands for byte i of the block.
  uint64_t alnum = 0;
  uint64_t hard_separator = 0;  // ASCII outside the address class
  uint64_t unsafe = 0;          // bytes >= 0x80 and '@'
  uint64_t colon = 0;
  uint64_t slash = 0;
  uint64_t dot = 0;
  uint64_t w = 0;               // 'w' or 'W'
  // The block lower-cased, plus room for a 16-byte copy from any offset.
  alignas(16) char lower[kBlock + 16];
};

#if defined(__SSE2__)
void ClassifyBlock(const Byte* p, BlockMasks* m) {
  const auto bits = [](__m128i v) {
    return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(v)));
  };
  const auto splat = [](char c) { return _mm_set1_epi8(c); };
  for (size_t i = 0; i < kBlock; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compares are exact here: bytes >= 0x80 end up in `unsafe`.
    const auto in_range = [&](char lo, char hi) {
      return _mm_and_si128(_mm_cmpgt_epi8(v, splat(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(v, splat(static_cast<char>(hi + 1))));
    };
    const auto eq = [&](char c) { return _mm_cmpeq_epi8(v, splat(c)); };
    const __m128i upper = in_range('A', 'Z');
    const __m128i alnum =
        _mm_or_si128(_mm_or_si128(upper, in_range('a', 'z')), in_range('0', '9'));
    const __m128i address_punct = _mm_or_si128(
        _mm_or_si128(eq('.'), eq('_')), _mm_or_si128(_mm_or_si128(eq('%'), eq('+')), eq('-')));
    _mm_store_si128(reinterpret_cast<__m128i*>(m->lower + i),
                    _mm_add_epi8(v, _mm_and_si128(upper, splat(0x20))));
    m->alnum |= bits(alnum) << i;
    m->hard_separator |= bits(_mm_or_si128(alnum, address_punct)) << i;  // inverted below
    m->unsafe |= bits(_mm_or_si128(v, eq('@'))) << i;  // the sign bit marks >= 0x80
    m->colon |= bits(eq(':')) << i;
    m->slash |= bits(eq('/')) << i;
    m->dot |= bits(eq('.')) << i;
    m->w |= bits(_mm_or_si128(eq('w'), eq('W'))) << i;
  }
  m->hard_separator = ~m->hard_separator;
}
#else
void ClassifyBlock(const Byte* p, BlockMasks* m) {
  for (size_t i = 0; i < kBlock; ++i) {
    const Byte b = p[i];
    const uint64_t bit = uint64_t{1} << i;
    const uint8_t flags = b < 0x80 ? kTables.flags[b] : 0;
    m->lower[i] = kTables.lower[b] != 0 ? kTables.lower[b] : static_cast<char>(b);
    if (flags & kAlnum) m->alnum |= bit;
    if (b < 0x80 && !(flags & kAddress)) m->hard_separator |= bit;
    if (b >= 0x80 || b == '@') m->unsafe |= bit;
    if (b == ':') m->colon |= bit;
    if (b == '/') m->slash |= bit;
    if (b == '.') m->dot |= bit;
    if (b == 'w' || b == 'W') m->w |= bit;
  }
}
#endif

// How many bytes at the start of the block the fast path may take (0 when
// none): everything before the last hard separator that precedes the first
// trigger, i.e. a byte >= 0x80, an '@', a ':' before '/' or a '.' after 'w'
// (as in "://" and "www."). A URL, an e-mail or a folded letter only starts
// in the address run that holds its trigger, and an address run holds no
// hard separator; so what comes before that separator is runs of alnum.
uint64_t Triggers(const BlockMasks& m) {
  // A ':' in the last byte may meet its "//" in the next block.
  return m.unsafe | (m.colon & ((m.slash >> 1) | (uint64_t{1} << 63))) | (m.dot & (m.w << 1));
}

size_t TakeBlock(const BlockMasks& m) {
  const uint64_t triggers = Triggers(m);
  uint64_t separators = m.hard_separator;
  if (triggers != 0) separators &= (triggers & (~triggers + 1)) - 1;  // below the first
  if (separators == 0) return 0;
  return 63 - static_cast<size_t>(__builtin_clzll(separators));
}

// The scanner behind CleanTextTo and TokenizeTo; kRecordTokens adds a view
// per token so that tokenizing needs no second pass. State lives in locals
// rather than in an object: stores through char* may alias anything, and
// would force members to be reloaded after every byte written.
template <bool kRecordTokens>
size_t Clean(std::string_view utf8, char* const out, std::string_view* tokens,
             size_t max_tokens) {
  const Byte* const begin = reinterpret_cast<const Byte*>(utf8.data());
  const Byte* const end = begin + utf8.size();
  char* o = out;
  char* token_start = nullptr;  // set while a token is open
  size_t recorded = 0;          // tokens written to `tokens`

  // E-mail matching is keyed on the next '@': the only run start that can
  // begin an e-mail is the start of the address run right before it, so
  // each run start costs one comparison.
  const Byte* next_at = FindAt(begin, end);
  const Byte* email_start = LocalPartStart(begin, next_at, end);

  const auto start_token = [&] {
    if (token_start != nullptr) return;
    if (o != out) *o++ = ' ';
    token_start = o;
  };
  const auto end_token = [&] {
    if (token_start == nullptr) return;
    if (o - token_start >= kMinPlaceholderDigits && IsAllDigits(token_start, o)) {
      o = token_start;
      AppendTo(o, kNumberToken);
    }
    if constexpr (kRecordTokens) {
      tokens[recorded++] = std::string_view(token_start, static_cast<size_t>(o - token_start));
    }
    token_start = nullptr;
  };
  const auto put_placeholder = [&](std::string_view placeholder) {
    end_token();
    if (recorded == max_tokens) return;  // the token just ended was the last one wanted
    start_token();
    AppendTo(o, placeholder);
    end_token();
  };

  // The fast path over one block from q (just after a separator, with no
  // token open); returns where the byte loop resumes: at the block's last
  // hard separator, whose handling brings it straight back here.
  const Byte* fast_from = begin;  // no block is tried before this
  const auto take_block = [&](const Byte* q) {
    BlockMasks masks;
    ClassifyBlock(q, &masks);
    const size_t taken = TakeBlock(masks);
    if (taken == 0) {
      // Retrying at every byte would cost more: wait until past the first
      // trigger (which the byte loop handles), or the block.
      const uint64_t triggers = Triggers(masks);
      fast_from = q + (triggers != 0 ? __builtin_ctzll(triggers) + 1 : kBlock);
      return q;
    }
    const uint64_t alnum = masks.alnum & ((uint64_t{1} << taken) - 1);
    // q - 1 is a separator, so bit 0 can start a run; the hard separator
    // at `taken` ends the last one.
    uint64_t starts = alnum & ~(alnum << 1);
    uint64_t ends = alnum & ~(alnum >> 1);
    while (starts != 0 && recorded < max_tokens) {
      const auto first = static_cast<size_t>(__builtin_ctzll(starts));
      const size_t size = static_cast<size_t>(__builtin_ctzll(ends)) + 1 - first;
      start_token();
      // Copying 16 bytes whatever the size beats a byte loop; the output
      // bound leaves room, since at least a block of input remains.
      std::memcpy(o, masks.lower + first, 16);
      if (size > 16) std::memcpy(o + 16, masks.lower + first + 16, size - 16);
      o += size;
      end_token();
      starts &= starts - 1;
      ends &= ends - 1;
    }
    return q + taken;
  };

  const Byte* p = begin;
  while (p != end && recorded < max_tokens) {
    const Byte b = *p;
    if (b < 0x80) {
      const uint8_t flags = kTables.flags[b];
      if (flags & kAddress) {
        const uint8_t prev = p == begin ? 0 : kTables.flags[p[-1]];
        if ((flags & kUrlStart) && !(prev & kAlnum)) {
          if (const Byte* url_end = MatchUrl(p, end)) {
            put_placeholder(kUrlToken);
            p = url_end;
            continue;
          }
        }
        if (!(prev & kAddress)) {
          if (next_at < p) {
            next_at = FindAt(p, end);
            email_start = LocalPartStart(p, next_at, end);
          }
          if (p == email_start) {
            if (const Byte* email_end = MatchDomain(next_at, end)) {
              put_placeholder(kEmailToken);
              p = email_end;
              continue;
            }
          }
        }
      }
      if (flags & kAlnum) {
        // Within a run of alnum bytes no URL or e-mail can start.
        start_token();
        do {
          *o++ = kTables.lower[*p++];
        } while (p != end && kTables.lower[*p] != 0);
      } else {
        end_token();
        ++p;
        if (p >= fast_from && static_cast<size_t>(end - p) >= kBlock) p = take_block(p);
      }
      continue;
    }
    // Only two-byte sequences up to U+037F can be letters or ignored; every
    // other byte >= 0x80, valid or not, is a separator on its own (a
    // continuation byte never starts a sequence, so this skips nothing that
    // a strict decoder would read as a letter).
    if (b >= 0xC2 && b <= 0xCD && p + 1 != end && (p[1] & 0xC0) == 0x80) {
      const uint32_t cp = ((b & 0x1Fu) << 6) | (p[1] & 0x3Fu);
      const TwoByte& entry = kTables.two_byte[cp - kTwoByteFirst];
      if (entry.kind == Kind::kFold) {
        start_token();
        *o++ = entry.first;
        if (entry.second != 0) *o++ = entry.second;
      } else if (entry.kind == Kind::kSeparator) {
        end_token();
      }
      p += 2;
      continue;
    }
    end_token();
    ++p;
  }
  end_token();
  return kRecordTokens ? recorded : static_cast<size_t>(o - out);
}

}  // namespace

size_t CleanTextTo(std::string_view utf8, char* out) {
  return Clean<false>(utf8, out, nullptr, SIZE_MAX);
}

size_t TokenizeTo(std::string_view utf8, char* out, std::string_view* tokens,
                  size_t max_tokens) {
  return max_tokens == 0 ? 0 : Clean<true>(utf8, out, tokens, max_tokens);
}

std::string CleanText(std::string_view utf8) {
  std::string cleaned(CleanedSizeBound(utf8.size()), '\0');
  cleaned.resize(CleanTextTo(utf8, cleaned.data()));
  return cleaned;
}

}  // namespace kiln::text
