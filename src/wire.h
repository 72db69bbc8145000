/*
 * wire.h -- the request stream of one HTTP/1.1 connection, judged as it
 * arrives, before libmicrohttpd reads a byte of it.
 *
 * libmicrohttpd answers what it cannot parse by itself, with an HTML or
 * empty body: a malformed request line or header line, an HTTP version
 * other than 1.x, a Content-Length that is not a number, a head past its
 * memory pool, bad chunk syntax.  SPEC 2 wants our JSON for every one of
 * them, on every request of a keep-alive connection.  So http.c relays
 * each connection: the client's bytes pass through wire_judge(), which
 * follows the framing of every request (heads, Content-Length bodies,
 * chunked bodies and their trailers), and only what it found sound is
 * passed on.  Pure: no I/O, unit-tested alone.
 */
#ifndef CW_WIRE_H
#define CW_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* The longest chunk-size line (digits and extensions) we wait for. */
#define WIRE_CHUNK_LINE_MAX	4096

/*
 * What one field (a header, a query argument, a cookie, a trailer field)
 * takes of libmicrohttpd's memory pool besides its bytes: its record
 * (struct MHD_HTTP_Header, 56 bytes, rounded up by the pool).  The
 * fields of a head, or of a trailer, may take max_head bytes so; and a
 * head and a trailer, bytes and fields, 2 x max_head together (MHD keeps
 * the head to the request's end): the pool http.c gives MHD holds that.
 */
#define WIRE_FIELD_COST		64

enum wire_verdict {
	WIRE_MORE,	/* all sound so far; the rest needs more bytes */
	WIRE_BAD,	/* the next byte breaks the framing: w->err says why */
	WIRE_STOP	/* a head whose framing the application refuses:
			 * pass it on, and nothing after it */
};

/* Why a stream was refused: the answer to give, then close. */
struct wire_error {
	unsigned	 status;	/* 400, 413 or 431 */
	const char	*code;		/* bad_request, bad_version, ... */
	char		 msg[160];
};

/* What one sound request head says about its body. */
struct wire_head {
	size_t		 len;		/* bytes of the head */
	int		 ncl;		/* Content-Length headers */
	uint64_t	 cl;		/* the last one's value */
	int		 nte;		/* Transfer-Encoding headers */
	int		 te_chunked;	/* the only coding is chunked */
	size_t		 cost;		/* MHD's pool for its fields */
};

struct wire {
	int		 state;		/* WIRE_S_*, wire.c */
	size_t		 max_head;	/* max_header_bytes */
	uint64_t	 left;		/* of a body or a chunk */
	size_t		 trailer;	/* bytes of the trailer so far */
	size_t		 tcost;		/* MHD's pool for its fields */
	size_t		 hcost;		/* the head's, all told */
	unsigned	 heads;		/* request heads found sound */
	unsigned	 whole;		/* requests passed whole */
	struct wire_error err;
};

void	wire_init(struct wire *, size_t max_head);

/*
 * Judge b[0..n), the stream's bytes after those judged before.  Returns
 * how many of them are sound and may be passed on; *v says what holds
 * the rest back.  With WIRE_MORE the caller keeps the rest (a part of a
 * head or a chunk line; never more than max_head plus
 * WIRE_CHUNK_LINE_MAX bytes) and calls again with it and what follows.
 */
size_t	wire_judge(struct wire *, const char *b, size_t n,
	    enum wire_verdict *v);

/* Nothing more passes: the stream was refused, or stopped after a head. */
int	wire_stopped(const struct wire *);

/*
 * Judge the request head at the start of b[0..n) alone: 1 when it is
 * complete and sound (*hd says what it holds), 0 while it is incomplete,
 * -1 when it is refused (*err says why).  Lines end in CRLF or, as
 * libmicrohttpd also accepts, a bare LF; empty lines before the request
 * line are skipped (RFC 9112 2.2).
 */
int	wire_head(const char *b, size_t n, size_t max, struct wire_head *hd,
	    struct wire_error *err);

#endif /* CW_WIRE_H */
