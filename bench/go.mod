module github.com/errlog/errlog/bench

go 1.26

require (
	github.com/errlog/errlog v0.2.0
	github.com/getsentry/sentry-go v0.50.0
	github.com/lmittmann/tint v1.2.1
	github.com/samber/slog-multi v1.7.1
)

require (
	github.com/samber/lo v1.52.0 // indirect
	github.com/samber/slog-common v0.20.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	gopkg.in/alexcesaro/quotedprintable.v3 v3.0.0-20150716171945-2caba252f4dc // indirect
	gopkg.in/gomail.v2 v2.0.0-20160411212932-81ebce5c23df // indirect
)
