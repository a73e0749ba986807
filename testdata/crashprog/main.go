// Command crashprog is a child program of errlog's crash review tests:
// it starts errlog from the environment, then fails as its arguments say.
//
//	recover <kind>  fail in a goroutine errlog.Go started, flush, exit 0
//	crash <kind>    fail in a bare goroutine
//	<mode>          one of the other crashes below
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/errlog/errlog"
)

var sink any

func fail(kind string) {
	switch kind {
	case "plain":
		panic("plain boom")
	case "typeassert":
		var v any = "a string"
		sink = v.(int)
	case "nilpanic":
		panic(nil)
	case "nilptr":
		var p *struct{ x int }
		sink = p.x
	case "makechan":
		n := -1
		sink = make(chan int, n)
	case "errvalue":
		panic(errors.New("error value boom"))
	case "repanic":
		defer errlog.Recover(context.Background())
		panic("repanicked boom")
	case "repanicplain": // recovered and panicked again by the program itself
		defer func() { panic(recover()) }()
		panic("repanicked boom")
	case "deferpanic":
		defer func() { panic("second boom in defer") }()
		panic("first boom")
	}
}

func main() {
	logger := errlog.New(errlog.FromEnv())
	slog.SetDefault(logger)
	ctx := context.Background()
	body := func(ctx context.Context) { fail(os.Args[2]) }
	switch os.Args[1] {
	case "recover":
		errlog.Go(ctx, body)
		time.Sleep(300 * time.Millisecond) // the report is logged
		if err := errlog.Flush(ctx); err != nil {
			println(err.Error())
			os.Exit(1)
		}
	case "crash":
		go body(ctx)
		time.Sleep(10 * time.Second)
	case "stackoverflow":
		var f func(int) int
		f = func(n int) int { return f(n+1) + 1 }
		sink = f(0)
	case "fault":
		p := (*int)(unsafe.Pointer(uintptr(0xdead0000)))
		sink = *p
	case "oom":
		syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: 2 << 30, Max: 2 << 30})
		var keep [][]byte
		for {
			keep = append(keep, make([]byte, 256<<20))
			sink = keep
		}
	case "goexit":
		runtime.Goexit()
	case "deadlock":
		select {}
	case "errexit":
		slog.Error("logged right before os.Exit", "n", 1)
		os.Exit(1)
	case "errcrash":
		slog.Error("logged right before a crash", "n", 2)
		go fail("plain")
		time.Sleep(10 * time.Second)
	case "errsleepexit":
		slog.Error("logged 150 ms before os.Exit", "n", 3)
		time.Sleep(150 * time.Millisecond)
		os.Exit(1)
	case "errsleepcrash":
		slog.Error("logged 150 ms before a crash", "n", 4)
		time.Sleep(150 * time.Millisecond)
		go fail("plain")
		time.Sleep(10 * time.Second)
	case "abort":
		syscall.Kill(os.Getpid(), syscall.SIGABRT)
		time.Sleep(10 * time.Second)
	case "fatal":
		errlog.Fatal(ctx, "fatal right away")
	}
}
