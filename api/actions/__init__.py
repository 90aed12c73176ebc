"""What each role may do, one module per resource: every action is an access check
(:mod:`api.access`) followed by a service call.

The JSON routers (``api/routers``) and the web pages (``api/web``) both call these functions,
never each other, so a page and its API endpoint cannot drift apart in who may do what:

* :mod:`~api.actions.cases` — submit (intake), read, search, the live suggestion;
* :mod:`~api.actions.review` — the review queue: claim, release, accept / correct / merge / reject;
* :mod:`~api.actions.handling` — a case's lifecycle after review: start, resolve, return, reopen,
  close with feedback (回访), and the department desk;
* :mod:`~api.actions.rereview` — 待复核: flags of a reclassify run and their answers;
* :mod:`~api.actions.lists` — the three lists (问题清单、交办清单、办结清单);
* :mod:`~api.actions.accounts` — user administration and one's own password;
* :mod:`~api.actions.jobs` — batch jobs (reclassify, import).

Actions raise :class:`api.errors.ApiError` (403 for a role or scope the rules refuse, 422 for a
value the service cannot use) or the service's own :class:`triage.errors.TriageError`; each
caller turns them into its answer (a JSON error body, a Chinese message on the page).
"""
