module example.com/trimpath

go 1.26.0

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/errlog/errlog v0.2.0
	golang.org/x/sync v0.25.0
)

require (
	github.com/lmittmann/tint v1.2.1 // indirect
	gopkg.in/alexcesaro/quotedprintable.v3 v3.0.0-20150716171945-2caba252f4dc // indirect
	gopkg.in/gomail.v2 v2.0.0-20160411212932-81ebce5c23df // indirect
)

replace github.com/errlog/errlog => ../../../../..
