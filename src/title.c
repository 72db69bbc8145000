/*
 * title.c -- classify a job title (English or Japanese) into a rank.
 *
 * One const table of patterns.  The title is first normalised into a
 * small buffer: ASCII lower-cased, full-width ASCII letters and
 * digits (ＣＥＯ) folded to ASCII, a few full-width separators
 * (、／＆・（）) and the ideographic space mapped to ASCII.  Then two
 * passes:
 *
 * - English patterns match whole words (runs of ASCII letters and
 *   digits), so "cto" never matches inside "director".  A pattern is one
 *   or more words; "*" stands for 0..3 words ("chief * officer").  At
 *   each word the longest matching pattern wins and its words are used
 *   up: "vice president" is VP, not VP plus "president" (C-level), and
 *   "product owner" is not "owner".
 * - Japanese patterns (any pattern with a non-ASCII byte) match as bytes
 *   anywhere, again longest first at each character: "本部長" is
 *   VP before "部長" is seen inside it, "部長代理" ranks below
 *   "部長".  "*" stands for 0..30 bytes ("最高*責任者").
 *
 * The result is the highest rank found ("CTO & VP Engineering" is
 * C-level); a non-blank title with no match is RANK_OTHER.
 *
 * Qualifiers (Assistant, Associate, Deputy) lower the next ranked match
 * in the same clause by one rank, never below RANK_OTHER: "Associate
 * Director" is Senior Manager, "Assistant Manager" is Other.  Clauses are
 * separated by , & / ; | ( ) + and the word "and".  T_CLAUSE patterns
 * rank the rest of their clause themselves: "Executive Assistant to the
 * CEO" is Other, "Chief of Staff to the CEO" is Head.
 *
 * Choices worth knowing:
 * - "Managing Director" is C-level: in the UK, Europe and Japan it is the
 *   head of the company (Geschäftsführer, 代表取締役 in English), and in
 *   US banking it is the most senior rank below partner; either way the
 *   person is an executive a churn signal should notice.
 * - "General Manager" / "GM" and "Chief of Staff" are Head/Director.
 * - "Founder", "Owner", "President", "Chair" are C-level; "Vice Chair" is
 *   VP; "Product Owner", "Process Owner", "Account Owner" are Other.
 * - "Senior Manager" needs the two words together: "Senior Product
 *   Manager" is an individual contributor's title, Manager.
 * - Titles longer than TITLE_MAX bytes are classified on their first
 *   TITLE_MAX bytes.
 *
 * Pure: no allocation, no I/O.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "title.h"

#define TITLE_MAX	512	/* bytes of normalised title looked at */
#define MAX_WORDS	64
#define GAP_WORDS	3	/* "*" in an English pattern */
#define GAP_BYTES	30	/* "*" in a Japanese pattern */

#define T_QUAL		0x01u	/* qualifier: next match one rank lower */
#define T_CLAUSE	0x02u	/* the match ranks its whole clause */

static const struct title_pattern {
	const char	*pat;
	uint8_t		 rank;		/* enum title_rank */
	uint8_t		 flags;
} patterns[] = {
	/* English: C-level. */
	{ "ceo", RANK_CLEVEL, 0 },
	{ "cto", RANK_CLEVEL, 0 },
	{ "cfo", RANK_CLEVEL, 0 },
	{ "coo", RANK_CLEVEL, 0 },
	{ "cro", RANK_CLEVEL, 0 },
	{ "cmo", RANK_CLEVEL, 0 },
	{ "cio", RANK_CLEVEL, 0 },
	{ "ciso", RANK_CLEVEL, 0 },
	{ "cpo", RANK_CLEVEL, 0 },
	{ "cco", RANK_CLEVEL, 0 },
	{ "cdo", RANK_CLEVEL, 0 },
	{ "cso", RANK_CLEVEL, 0 },
	{ "chro", RANK_CLEVEL, 0 },
	{ "cxo", RANK_CLEVEL, 0 },
	{ "c level", RANK_CLEVEL, 0 },
	{ "c suite", RANK_CLEVEL, 0 },
	{ "chief * officer", RANK_CLEVEL, 0 },
	{ "chief executive", RANK_CLEVEL, 0 },
	{ "president", RANK_CLEVEL, 0 },
	{ "founder", RANK_CLEVEL, 0 },
	{ "cofounder", RANK_CLEVEL, 0 },
	{ "owner", RANK_CLEVEL, 0 },
	{ "managing director", RANK_CLEVEL, 0 },
	{ "managing partner", RANK_CLEVEL, 0 },
	{ "chair", RANK_CLEVEL, 0 },
	{ "chairman", RANK_CLEVEL, 0 },
	{ "chairwoman", RANK_CLEVEL, 0 },
	{ "chairperson", RANK_CLEVEL, 0 },
	{ "board member", RANK_CLEVEL, 0 },
	{ "board director", RANK_CLEVEL, 0 },
	{ "non executive director", RANK_CLEVEL, 0 },
	/* English: VP. */
	{ "vp", RANK_VP, 0 },
	{ "svp", RANK_VP, 0 },
	{ "evp", RANK_VP, 0 },
	{ "v p", RANK_VP, 0 },
	{ "vice president", RANK_VP, 0 },
	{ "vice chair", RANK_VP, 0 },
	{ "vice chairman", RANK_VP, 0 },
	{ "vice chairwoman", RANK_VP, 0 },
	{ "vice chairperson", RANK_VP, 0 },
	/* English: Head / Director. */
	{ "avp", RANK_HEAD, 0 },
	{ "head", RANK_HEAD, 0 },
	{ "director", RANK_HEAD, 0 },
	{ "general manager", RANK_HEAD, 0 },
	{ "gm", RANK_HEAD, 0 },
	{ "chief of staff", RANK_HEAD, T_CLAUSE },
	/* English: Senior Manager. */
	{ "senior manager", RANK_SENIOR_MANAGER, 0 },
	{ "sr manager", RANK_SENIOR_MANAGER, 0 },
	{ "snr manager", RANK_SENIOR_MANAGER, 0 },
	{ "senior mgr", RANK_SENIOR_MANAGER, 0 },
	{ "sr mgr", RANK_SENIOR_MANAGER, 0 },
	/* English: Manager. */
	{ "manager", RANK_MANAGER, 0 },
	{ "mgr", RANK_MANAGER, 0 },
	/* English: other, and words that would otherwise mislead. */
	{ "lead", RANK_OTHER, 0 },
	{ "engineer", RANK_OTHER, 0 },
	{ "product owner", RANK_OTHER, 0 },
	{ "process owner", RANK_OTHER, 0 },
	{ "account owner", RANK_OTHER, 0 },
	{ "executive assistant", RANK_OTHER, T_CLAUSE },
	{ "personal assistant", RANK_OTHER, T_CLAUSE },
	{ "assistant to", RANK_OTHER, T_CLAUSE },
	/* English qualifiers. */
	{ "assistant", RANK_NONE, T_QUAL },
	{ "asst", RANK_NONE, T_QUAL },
	{ "associate", RANK_NONE, T_QUAL },
	{ "assoc", RANK_NONE, T_QUAL },
	{ "deputy", RANK_NONE, T_QUAL },

	/* Japanese: C-level (board, president, founder). */
	{ "代表取締役", RANK_CLEVEL, 0 },
	{ "取締役", RANK_CLEVEL, 0 },
	{ "代表執行役", RANK_CLEVEL, 0 },
	{ "社長", RANK_CLEVEL, 0 },
	{ "会長", RANK_CLEVEL, 0 },
	{ "専務", RANK_CLEVEL, 0 },
	{ "常務", RANK_CLEVEL, 0 },
	{ "創業者", RANK_CLEVEL, 0 },
	{ "最高*責任者", RANK_CLEVEL, 0 },	/* 最高技術責任者 = CTO */
	{ "プレジデント", RANK_CLEVEL, 0 },
	/* Japanese: VP (executive officers, division heads). */
	{ "専務執行役員", RANK_VP, 0 },
	{ "常務執行役員", RANK_VP, 0 },
	{ "執行役員", RANK_VP, 0 },
	{ "執行役", RANK_VP, 0 },
	{ "副社長", RANK_VP, 0 },
	{ "副会長", RANK_VP, 0 },
	{ "本部長", RANK_VP, 0 },
	{ "事業部長", RANK_VP, 0 },
	{ "バイスプレジデント", RANK_VP, 0 },
	{ "ヴァイスプレジデント", RANK_VP, 0 },
	/* Japanese: Head (department heads). */
	{ "部長", RANK_HEAD, 0 },
	{ "副本部長", RANK_HEAD, 0 },
	{ "副事業部長", RANK_HEAD, 0 },
	{ "ディレクター", RANK_HEAD, 0 },
	{ "ゼネラルマネージャー", RANK_HEAD, 0 },
	{ "ゼネラルマネジャー", RANK_HEAD, 0 },
	{ "社長室長", RANK_HEAD, 0 },
	/* Japanese: Senior Manager. */
	{ "次長", RANK_SENIOR_MANAGER, 0 },
	{ "副部長", RANK_SENIOR_MANAGER, 0 },
	{ "部長代理", RANK_SENIOR_MANAGER, 0 },
	{ "部長補佐", RANK_SENIOR_MANAGER, 0 },
	{ "シニアマネージャー", RANK_SENIOR_MANAGER, 0 },
	{ "シニアマネジャー", RANK_SENIOR_MANAGER, 0 },
	/* Japanese: Manager. */
	{ "課長", RANK_MANAGER, 0 },
	{ "マネージャー", RANK_MANAGER, 0 },
	{ "マネージャ", RANK_MANAGER, 0 },
	{ "マネジャー", RANK_MANAGER, 0 },
	/* Japanese: other, and words that would otherwise mislead. */
	{ "課長代理", RANK_OTHER, 0 },
	{ "課長補佐", RANK_OTHER, 0 },
	{ "係長", RANK_OTHER, 0 },
	{ "主任", RANK_OTHER, 0 },
	{ "担当", RANK_OTHER, 0 },
	{ "リーダー", RANK_OTHER, 0 },
	{ "アシスタントマネージャー", RANK_OTHER, 0 },
	{ "アシスタントマネジャー", RANK_OTHER, 0 },
	{ "社長室", RANK_OTHER, 0 },
	{ "社長秘書", RANK_OTHER, 0 },
};

#define NPATTERNS	(sizeof(patterns) / sizeof(patterns[0]))

/* Full-width and CJK characters mapped to ASCII before matching. */
static const struct {
	const char	*from;		/* 3 bytes of UTF-8 */
	char		 to;
} fold_punct[] = {
	{ "\xe3\x80\x80", ' ' },	/* ideographic space */
	{ "\xe3\x80\x81", ',' },	/* 、 */
	{ "\xe3\x83\xbb", '/' },	/* ・ */
	{ "\xef\xbc\x8f", '/' },	/* ／ */
	{ "\xef\xbc\x86", '&' },	/* ＆ */
	{ "\xef\xbc\x88", '(' },	/* （ */
	{ "\xef\xbc\x89", ')' },	/* ） */
	{ "\xef\xbc\x8c", ',' },	/* ， */
};

struct word {
	const char	*s;
	size_t		 len;
	unsigned	 clause;
};

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_clause_sep(unsigned char c)
{
	return c == ',' || c == '&' || c == '/' || c == ';' || c == '|' ||
	    c == '(' || c == ')' || c == '+';
}

/*
 * Normalise title into buf (size TITLE_MAX + 1); returns the length.
 * Stops before a character that would not fit whole.
 */
static size_t
normalise(const char *title, char *buf)
{
	const unsigned char	*p = (const unsigned char *)title;
	size_t			 n = 0, i, clen;
	unsigned		 cp;

	while (*p != '\0' && n < TITLE_MAX) {
		if (*p < 0x80) {
			buf[n++] = (char)(*p >= 'A' && *p <= 'Z' ?
			    *p + ('a' - 'A') : *p);
			p++;
			continue;
		}
		/* Full-width ASCII: U+FF01..U+FF5E is EF BC 81..EF BD 9E. */
		if (p[0] == 0xef && (p[1] == 0xbc || p[1] == 0xbd) &&
		    p[2] >= 0x80 && p[2] <= 0xbf) {
			cp = 0xff00u + (p[1] == 0xbd ? 0x40u : 0) +
			    (p[2] - 0x80u);
			if (cp >= 0xff10 && cp <= 0xff19) {	/* ０..９ */
				buf[n++] = (char)('0' + (cp - 0xff10));
				p += 3;
				continue;
			}
			if (cp >= 0xff21 && cp <= 0xff3a) {	/* Ａ..Ｚ */
				buf[n++] = (char)('a' + (cp - 0xff21));
				p += 3;
				continue;
			}
			if (cp >= 0xff41 && cp <= 0xff5a) {	/* ａ..ｚ */
				buf[n++] = (char)('a' + (cp - 0xff41));
				p += 3;
				continue;
			}
		}
		/* Byte by byte: p may end (NUL) before 3 bytes. */
		for (i = 0; i < sizeof(fold_punct) / sizeof(fold_punct[0]);
		    i++)
			if (p[0] == (unsigned char)fold_punct[i].from[0] &&
			    p[1] == (unsigned char)fold_punct[i].from[1] &&
			    p[2] == (unsigned char)fold_punct[i].from[2])
				break;
		if (i < sizeof(fold_punct) / sizeof(fold_punct[0])) {
			buf[n++] = fold_punct[i].to;
			p += 3;
			continue;
		}
		/* Copy one UTF-8 character whole (or one stray byte). */
		if (*p >= 0xf0)
			clen = 4;
		else if (*p >= 0xe0)
			clen = 3;
		else
			clen = *p >= 0xc0 ? 2 : 1;
		for (i = 1; i < clen; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		clen = i;
		if (n + clen > TITLE_MAX)
			break;
		memcpy(buf + n, p, clen);
		n += clen;
		p += clen;
	}
	buf[n] = '\0';
	return n;
}

/* Split buf into words, numbering clauses. */
static size_t
split_words(const char *buf, size_t n, struct word *w)
{
	size_t		i = 0, j, nw = 0;
	unsigned	clause = 0;

	while (i < n && nw < MAX_WORDS) {
		if (!is_alnum((unsigned char)buf[i])) {
			if (is_clause_sep((unsigned char)buf[i]))
				clause++;
			i++;
			continue;
		}
		for (j = i; j < n && is_alnum((unsigned char)buf[j]); j++)
			;
		if (j - i == 3 && memcmp(buf + i, "and", 3) == 0)
			clause++;
		else {
			w[nw].s = buf + i;
			w[nw].len = j - i;
			w[nw].clause = clause;
			nw++;
		}
		i = j;
	}
	return nw;
}

static int
is_japanese(const char *pat)
{
	for (; *pat != '\0'; pat++)
		if ((unsigned char)*pat >= 0x80)
			return 1;
	return 0;
}

/*
 * Match the words of pat (space separated, "*" a gap) against w[i..nw)
 * within one clause; returns the number of words used, 0 if no match.
 */
static size_t
match_words(const char *pat, const struct word *w, size_t i, size_t nw)
{
	const char	*end;
	size_t		 len, k, used;

	if (*pat == '\0')
		return 0;	/* caller counts what was used before */
	if ((end = strchr(pat, ' ')) == NULL)
		end = pat + strlen(pat);
	len = (size_t)(end - pat);
	if (len == 1 && *pat == '*') {
		if (*end == '\0')
			return 0;	/* a trailing gap means nothing */
		/* A gap of 0..GAP_WORDS words, then the rest. */
		for (k = 0; k <= GAP_WORDS && i + k < nw; k++) {
			if (k > 0 && w[i + k].clause != w[i].clause)
				break;
			if ((used = match_words(end + 1, w, i + k, nw)) > 0)
				return k + used;
		}
		return 0;
	}
	if (i >= nw || w[i].len != len || memcmp(w[i].s, pat, len) != 0)
		return 0;
	if (*end == '\0')
		return 1;
	if (i + 1 >= nw || w[i + 1].clause != w[i].clause)
		return 0;
	if ((used = match_words(end + 1, w, i + 1, nw)) == 0)
		return 0;
	return 1 + used;
}

/* The highest rank of the English patterns in buf. */
static enum title_rank
rank_english(const char *buf, size_t n)
{
	struct word			 w[MAX_WORDS];
	const struct title_pattern	*best;
	size_t				 nw, i, k, used, bestused;
	unsigned			 qclause = 0;
	int				 qual = 0, r, top = RANK_NONE;

	nw = split_words(buf, n, w);
	for (i = 0; i < nw;) {
		best = NULL;
		bestused = 0;
		for (k = 0; k < NPATTERNS; k++) {
			if (is_japanese(patterns[k].pat))
				continue;
			used = match_words(patterns[k].pat, w, i, nw);
			if (used > bestused) {
				best = &patterns[k];
				bestused = used;
			}
		}
		if (best == NULL) {
			i++;
			continue;
		}
		if (best->flags & T_QUAL) {
			qual = 1;
			qclause = w[i].clause;
			i += bestused;
			continue;
		}
		r = best->rank;
		if (qual && qclause == w[i].clause && r > RANK_OTHER)
			r--;
		qual = 0;
		if (r > top)
			top = r;
		if (best->flags & T_CLAUSE) {
			for (k = i; k < nw && w[k].clause == w[i].clause; k++)
				;
			i = k;
		} else
			i += bestused;
	}
	return (enum title_rank)top;
}

/* Length of the match of a Japanese pattern at p (end at end); 0 none. */
static size_t
match_bytes(const char *pat, const char *p, const char *end)
{
	const char	*star, *q;
	size_t		 len, len2, gap;

	if ((star = strchr(pat, '*')) == NULL) {
		len = strlen(pat);
		if ((size_t)(end - p) < len || memcmp(p, pat, len) != 0)
			return 0;
		return len;
	}
	len = (size_t)(star - pat);
	if ((size_t)(end - p) < len || memcmp(p, pat, len) != 0)
		return 0;
	len2 = strlen(star + 1);
	for (gap = 0, q = p + len; gap <= GAP_BYTES; gap++, q++) {
		if ((size_t)(end - q) < len2)
			break;
		if (memcmp(q, star + 1, len2) == 0)
			return (size_t)(q - p) + len2;
	}
	return 0;
}

/* The highest rank of the Japanese patterns in buf. */
static enum title_rank
rank_japanese(const char *buf, size_t n)
{
	const char	*p = buf, *end = buf + n;
	size_t		 k, used, bestused;
	int		 rank, top = RANK_NONE;

	while (p < end) {
		if ((unsigned char)*p < 0xc0) {
			p++;		/* ASCII or a continuation byte */
			continue;
		}
		bestused = 0;
		rank = RANK_NONE;
		for (k = 0; k < NPATTERNS; k++) {
			if (!is_japanese(patterns[k].pat))
				continue;
			used = match_bytes(patterns[k].pat, p, end);
			if (used > bestused) {
				bestused = used;
				rank = patterns[k].rank;
			}
		}
		if (bestused == 0) {
			p++;
			continue;
		}
		if (rank > top)
			top = rank;
		p += bestused;
	}
	return (enum title_rank)top;
}

enum title_rank
title_rank(const char *title)
{
	char		buf[TITLE_MAX + 1];
	size_t		n, i;
	enum title_rank	en, ja;

	if (title == NULL)
		return RANK_NONE;
	n = normalise(title, buf);
	for (i = 0; i < n; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' &&
		    buf[i] != '\r')
			break;
	if (i == n)
		return RANK_NONE;
	en = rank_english(buf, n);
	ja = rank_japanese(buf, n);
	if (ja > en)
		en = ja;
	return en == RANK_NONE ? RANK_OTHER : en;
}

const char *
title_rank_name(enum title_rank r)
{
	static const char *const names[] = {
		[RANK_NONE] = "None",
		[RANK_OTHER] = "Other",
		[RANK_MANAGER] = "Manager",
		[RANK_SENIOR_MANAGER] = "Senior Manager",
		[RANK_HEAD] = "Head/Director",
		[RANK_VP] = "VP",
		[RANK_CLEVEL] = "C-level",
	};

	if ((unsigned)r >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[r];
}
