/*
 * title.h -- the title classifier behind title_downgrade and new_executive:
 * a job title in English or Japanese -> enum title_rank (window.h).
 * Pure.
 *
 * Examples: "CEO", "Chief Revenue Officer", "代表取締役社長", "取締役" ->
 * RANK_CLEVEL; "VP Sales", "Vice President", "SVP", "本部長",
 * "執行役員" -> RANK_VP; "Head of Customer Success", "Director of IT",
 * "部長" -> RANK_HEAD; "Senior Manager", "次長" -> RANK_SENIOR_MANAGER;
 * "Manager", "課長" -> RANK_MANAGER; "Lead Engineer", "係長", "Engineer"
 * -> RANK_OTHER; "" / NULL -> RANK_NONE.  Qualifiers such as "Assistant
 * Manager", "Deputy Director" or "Associate Director" rank one below.
 */
#ifndef CW_TITLE_H
#define CW_TITLE_H

#include "window.h"

enum title_rank	 title_rank(const char *title);
const char	*title_rank_name(enum title_rank);	/* "VP", ... */

#endif
