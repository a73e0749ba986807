// Command crasher is a child program of errlog's tests: it starts errlog
// as an application would, from the environment, then does what its
// argument says.
//
//	goroutine  panic in a goroutine errlog.Go did not start
//	mapwrites  concurrent map writes (a fatal runtime error)
//	nilmap     a write to a nil map in main
//	wait       print "ready" and wait for stdin to close
package main

import (
	"bufio"
	"fmt"
	"os"
	"time"

	"github.com/errlog/errlog"
)

func main() {
	slogger := errlog.New(errlog.FromEnv())
	_ = slogger
	switch os.Args[1] {
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
