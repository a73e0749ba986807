module github.com/errlog/errlog/bench

go 1.26

require github.com/errlog/errlog v0.0.0

require (
	github.com/lmittmann/tint v1.2.1 // indirect
	github.com/samber/lo v1.52.0 // indirect
	github.com/samber/slog-common v0.20.0 // indirect
	github.com/samber/slog-multi v1.7.1 // indirect
	golang.org/x/text v0.22.0 // indirect
)

replace github.com/errlog/errlog => ../
