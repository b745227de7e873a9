-- wrk script: every request is a POST with a 1 MiB body (bench/compare.ts, "upload" scenario).
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
