-- wrk script: POST the body in $EDGEWOOD_LOADTEST_BODY as JSON to the given URL,
-- and count answers other than 200 as errors (wrk only counts socket errors and,
-- separately, non-2xx/3xx responses).
wrk.method = "POST"
wrk.body = os.getenv("EDGEWOOD_LOADTEST_BODY")
wrk.headers["Content-Type"] = "application/json"
