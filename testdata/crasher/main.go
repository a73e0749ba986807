// Command crasher is a child program of errlog's tests: it starts errlog
// as an application would, from the environment, then does what its
// argument says.
//
//	goroutine  panic in a goroutine errlog.Go did not start
//	mapwrites  concurrent map writes (a fatal runtime error)
//	nilmap     a write to a nil map in main
//	wait       print "ready" and wait for stdin to close
//	source     log an ERROR whose source lines the test checks, and flush
//	restore    open and close a second Handler with crash reports on the
//	           spool directory of the second argument, then panic
//	closed     close the Handler, then panic
package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/errlog/errlog"
)

func main() {
	logger := errlog.New(errlog.FromEnv())
	switch os.Args[1] {
	case "source":
		slog.SetDefault(logger)
		failHere()
		if err := errlog.Flush(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "restore":
		o := errlog.FromEnv()
		o.SpoolDir = os.Args[2]
		if err := errlog.NewHandler(o).Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		explode("boom after the second handler closed")
	case "closed":
		if err := logger.Handler().(*errlog.Handler).Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		explode("boom after close")
	case "goroutine":
		go func() {
			explode("boom in a bare goroutine")
		}()
		time.Sleep(10 * time.Second)
	case "mapwrites":
		m := map[int]int{}
		for g := 0; g < 4; g++ {
			go func() {
				for i := 0; ; i++ {
					m[i%1000] = i
				}
			}()
		}
		time.Sleep(10 * time.Second)
	case "nilmap":
		var m map[string]int
		m["key"] = 1 //lint:ignore SA5000 the crash under test
	case "wait":
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
}

func explode(msg string) {
	panic(msg)
}

func failHere() {
	token := "abc123"
	n := len(token)
	slog.Error("source line under test", "user", "ann", "n", n)
	// Five lines
	// after it,
	// for its
	// post_context.
}
