/*
 * check_limits.c -- unit tests for limits.c: each bound of [limits] is
 * refused at its edge with its key and limit_reached, nothing is kept
 * of a refused request, an admitted one reserves (new accounts pending,
 * new names interned) so that the next request counts it, and what is
 * already known costs nothing.  Links the pure core.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cwconfig.h"
#include "event.h"
#include "intern.h"
#include "cwlimits.h"
#include "util.h"
#include "window.h"

#define NOW	(INT64_C(1795176000) * CW_USEC_PER_SEC)	/* 2026-11-20 */

static struct account_table	*t;
static struct cw_limits		 lim;
static struct cw_event		 ev[64];
static size_t			 nev;
static const char		*limit;
static struct cw_error		 err;

static void
setup(void)
{
	t = account_table_new();
	lim.accounts = 1000;
	lim.names = 100000;
	lim.name_bytes = 1 << 30;
	lim.contacts_per_account = 1000;
	lim.records_per_account = 1000;
	lim.users_per_account = 1000;
	lim.memberships = 1000;
	lim.queued_notifications = 1000;
	nev = 0;
}

static void
teardown(void)
{
	account_table_free(t);
	intern_purge();
}

static struct cw_event *
add(enum cw_event_type type, const char *acct)
{
	struct cw_event *e = &ev[nev++];

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->account_id = (char *)acct;
	e->ts = NOW;
	e->p.is_champion = -1;
	return e;
}

static int
admit(void)
{
	struct limits_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.ev = ev;
	rq.nev = nev;
	limit = NULL;
	return limits_admit(t, &lim, &rq, &limit, &err);
}

/* Apply the admitted events, as the engine does after the commit. */
static void
apply_all(void)
{
	size_t i;

	for (i = 0; i < nev; i++)
		ck_assert_int_eq(window_apply(&account_get(t,
		    ev[i].account_id)->w, &ev[i], NULL), 0);
	nev = 0;
}

START_TEST(accounts)
{
	lim.accounts = 3;
	add(EV_LOGIN, "a1");
	add(EV_LOGIN, "a1");
	add(EV_LOGIN, "a2");
	add(EV_LOGIN, "");		/* no account: nothing to count */
	ck_assert_int_eq(admit(), 0);
	/* Reserved at once: pending accounts, counted by the next one. */
	ck_assert_uint_eq(t->count, 2);
	ck_assert(account_find(t, "a1")->pending);

	nev = 0;
	add(EV_LOGIN, "a3");
	add(EV_LOGIN, "a4");
	ck_assert_int_eq(admit(), -1);
	ck_assert_str_eq(limit, "max_accounts");
	ck_assert_str_eq(err.code, "limit_reached");
	ck_assert_ptr_nonnull(strstr(err.msg, "max_accounts (3)"));
	ck_assert_uint_eq(t->count, 2);		/* nothing kept */
	ck_assert_ptr_null(account_find(t, "a3"));

	/* Known accounts cost nothing; one more fits exactly. */
	nev = 0;
	add(EV_LOGIN, "a1");
	add(EV_LOGIN, "a3");
	ck_assert_int_eq(admit(), 0);
	ck_assert_uint_eq(t->count, 3);
	nev = 0;
	add(EV_LOGIN, "a2");
	ck_assert_int_eq(admit(), 0);
}
END_TEST

START_TEST(accounts_put)
{
	struct limits_request rq;
	const char *ids[] = { "p1", "p2" };

	lim.accounts = 1;
	memset(&rq, 0, sizeof(rq));
	rq.accounts = ids;
	rq.naccounts = 2;
	ck_assert_int_eq(limits_admit(t, &lim, &rq, &limit, &err), -1);
	ck_assert_str_eq(limit, "max_accounts");
	rq.naccounts = 1;
	ck_assert_int_eq(limits_admit(t, &lim, &rq, &limit, &err), 0);
}
END_TEST

START_TEST(names)
{
	struct cw_event *e;
	size_t base;

	intern("known", 5);
	base = intern_count();
	lim.names = base + 3;
	e = add(EV_FEATURE_USED, "a");
	e->p.feature = (char *)"f1";
	e = add(EV_FEATURE_USED, "a");
	e->p.feature = (char *)"f1";
	e = add(EV_TICKET_CREATED, "a");
	e->p.team = (char *)"eng";
	e->p.category = (char *)"known";
	ck_assert_int_eq(admit(), 0);
	ck_assert_uint_eq(intern_count(), base + 2);	/* f1, eng */
	ck_assert_uint_ne(intern_find("f1", 2), 0);

	nev = 0;
	e = add(EV_CONTACT_JOINED, "a");
	e->p.contact_id = (char *)"c1";
	e->p.title = (char *)"CEO";
	ck_assert_int_eq(admit(), -1);
	ck_assert_str_eq(limit, "max_names");
	ck_assert_uint_eq(intern_find("c1", 2), 0);	/* nothing kept */
	e->p.title = (char *)"eng";
	ck_assert_int_eq(admit(), 0);
	e = add(EV_COMPETITOR_SIGNAL, "a");
	e->p.competitor = (char *)"rival";
	ck_assert_int_eq(admit(), -1);
}
END_TEST

START_TEST(name_bytes)
{
	static char big[1000];
	struct cw_event *e;
	char num[16];
	int i;

	/* The strings' bytes, NULs included (the tables go by count). */
	intern("seed", 4);
	ck_assert_uint_eq(intern_str_bytes(), 5);
	lim.name_bytes = 5 + 100 * 1000;
	memset(big, 'x', sizeof(big) - 1);
	e = add(EV_FEATURE_USED, "a");
	e->p.feature = big;
	for (i = 0; i < 300; i++) {
		snprintf(num, sizeof(num), "%06d", i);
		memcpy(big, num, 6);	/* 999 bytes, distinct by the prefix */
		if (admit() == -1)
			break;
	}
	ck_assert_int_eq(i, 100);	/* exactly 100 names of 1000 bytes */
	ck_assert_str_eq(limit, "max_name_bytes");
	ck_assert_uint_eq(intern_str_bytes(), lim.name_bytes);
	memcpy(big, "000000", 6);	/* a known name: no bytes */
	ck_assert_int_eq(admit(), 0);
}
END_TEST

START_TEST(contacts_per_account)
{
	static char id[3][16];
	int i;

	lim.contacts_per_account = 3;
	for (i = 0; i < 3; i++) {
		snprintf(id[i], sizeof(id[i]), "c%d", i);
		add(EV_CONTACT_JOINED, "a")->p.contact_id = id[i];
	}
	add(EV_CONTACT_CHANGED, "a")->p.contact_id = (char *)"c0";
	add(EV_CONTACT_JOINED, "b")->p.contact_id = (char *)"c9";
	ck_assert_int_eq(admit(), 0);
	apply_all();
	ck_assert_uint_eq(account_find(t, "a")->w.ncontacts, 3);

	/* Known contacts may change; a fourth is refused, b has room. */
	add(EV_CONTACT_LEFT, "a")->p.contact_id = (char *)"c1";
	add(EV_CONTACT_JOINED, "b")->p.contact_id = (char *)"c8";
	ck_assert_int_eq(admit(), 0);
	add(EV_CONTACT_JOINED, "a")->p.contact_id = (char *)"c4";
	ck_assert_int_eq(admit(), -1);
	ck_assert_str_eq(limit, "max_contacts_per_account");
	ck_assert_ptr_nonnull(strstr(err.msg, "'a'"));
}
END_TEST

START_TEST(records_per_account)
{
	int i;

	lim.records_per_account = 4;
	for (i = 0; i < 3; i++)
		add(EV_TOUCHPOINT, "a");
	add(EV_LOGIN, "a");		/* a counter, not a record */
	ck_assert_int_eq(admit(), 0);
	apply_all();
	add(EV_TICKET_CREATED, "a");
	ck_assert_int_eq(admit(), 0);
	add(EV_COMPETITOR_SIGNAL, "a");
	ck_assert_int_eq(admit(), -1);
	ck_assert_str_eq(limit, "max_records_per_account");
}
END_TEST

START_TEST(users_per_account)
{
	lim.users_per_account = 2;
	add(EV_LOGIN, "a")->user_id = (char *)"u1";
	add(EV_LOGIN, "a")->user_id = (char *)"u1";
	add(EV_FEATURE_USED, "a")->user_id = (char *)"u2";
	ck_assert_int_eq(admit(), 0);
	apply_all();
	add(EV_LOGIN, "a")->user_id = (char *)"u2";
	add(EV_LOGIN, "b")->user_id = (char *)"u3";
	ck_assert_int_eq(admit(), 0);
	add(EV_LOGIN, "a")->user_id = (char *)"u3";
	ck_assert_int_eq(admit(), -1);
	ck_assert_str_eq(limit, "max_users_per_account");
}
END_TEST

START_TEST(memberships)
{
	struct limits_request rq;
	const char *users[] = { "u1", "u2", "u1" };

	lim.memberships = 2;
	ck_assert_int_eq(account_member_set(t, "u0", "a"), 0);
	memset(&rq, 0, sizeof(rq));
	rq.members = users;
	rq.nmembers = 3;
	ck_assert_int_eq(limits_admit(t, &lim, &rq, &limit, &err), -1);
	ck_assert_str_eq(limit, "max_memberships");
	users[1] = "u0";	/* known: regrouping costs nothing */
	ck_assert_int_eq(limits_admit(t, &lim, &rq, &limit, &err), 0);
}
END_TEST

START_TEST(backlog)
{
	struct limits_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.backlog = 999;
	ck_assert_int_eq(limits_admit(t, &lim, &rq, &limit, &err), 0);
	rq.backlog = 1000;
	ck_assert_int_eq(limits_admit(t, &lim, &rq, &limit, &err), -1);
	ck_assert_str_eq(limit, "max_queued_notifications");
	ck_assert_str_eq(err.code, "limit_reached");
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("limits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, accounts);
	tcase_add_test(tc, accounts_put);
	tcase_add_test(tc, names);
	tcase_add_test(tc, name_bytes);
	tcase_add_test(tc, contacts_per_account);
	tcase_add_test(tc, records_per_account);
	tcase_add_test(tc, users_per_account);
	tcase_add_test(tc, memberships);
	tcase_add_test(tc, backlog);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(limits_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
