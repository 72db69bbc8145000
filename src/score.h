/*
 * score.h -- the health score of SPEC 5 and its decomposition.  Pure.
 *
 * score = 100 - the sum of the weights of the active signals, clamped to
 * 0..100; green >= 70, yellow 40..69, red < 40.  The decomposition
 * compares the previous active set (ids and the weights they had) with
 * the new one, as a sentence for alerts and as parts for the API:
 *
 *	"72 → 42: champion_left −30, ticket_velocity −15 (3.1 × baseline),
 *	 was login_decline −15 now resolved +15"
 *
 * The sentence uses UTF-8 "→" (U+2192) and "−" (U+2212, minus) as the
 * SPEC does.  Active signals are listed heaviest first (then in table
 * order), resolved ones after them.
 *
 * Not here: trend_7d and the score history (the caller keeps scores),
 * health_degraded alerts (alert.c).
 */
#ifndef CW_SCORE_H
#define CW_SCORE_H

#include <stddef.h>

#include "signal.h"

enum health_status {
	HEALTH_GREEN,
	HEALTH_YELLOW,
	HEALTH_RED,
	HEALTH__COUNT
};

#define SCORE_MAX		100
#define SCORE_GREEN_MIN		70
#define SCORE_YELLOW_MIN	40
#define SCORE_TEXT_MAX		1024	/* enough for every signal */

/* A signal that was active, with the weight it had. */
struct score_item {
	enum sig_id	 id;
	int		 weight;
};

enum score_state {
	SCORE_NEW,		/* active now, not before */
	SCORE_CONTINUING,	/* active before and now */
	SCORE_RESOLVED		/* active before, not now */
};

/* One line of the breakdown: what a signal adds to the score. */
struct score_part {
	enum sig_id	 id;
	int		 contribution;	/* -weight, or +weight when resolved */
	enum score_state state;
};

struct score_breakdown {
	int		 prev_score;
	int		 score;
	struct score_part part[2 * SIG__COUNT];
	size_t		 nparts;	/* active (heaviest first), resolved */
};

/* 100 - sum of weights, clamped to 0..100. */
int		 score_compute(const struct sig_result *, size_t n);
int		 score_compute_items(const struct score_item *, size_t n);

enum health_status score_status(int score);
const char	*score_status_name(enum health_status);  /* "green", ... */
/* The status named s, or -1. */
int		 score_status_parse(const char *s);
const char	*score_state_name(enum score_state);	/* "new", ... */

/*
 * The active set of results as items (to keep for the next
 * decomposition).  out has room for SIG__COUNT; returns the count.
 */
size_t		 score_items(const struct sig_result *, size_t n,
		    struct score_item *out);

/*
 * Decompose the change from prev (nprev items) to cur (ncur results).
 * Fills b (if not NULL) and writes the sentence to buf (if not NULL; at
 * most len bytes, always NUL-terminated, SCORE_TEXT_MAX is enough).
 * Returns the new score.  A signal in prev must appear at most once.
 */
int		 score_explain(const struct score_item *prev, size_t nprev,
		    const struct sig_result *cur, size_t ncur,
		    struct score_breakdown *b, char *buf, size_t len);

#endif
