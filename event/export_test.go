package event

// GroupKeyUncached is GroupKeyOf(Grouping) without GroupKey's memory of
// recent keys: the cost of a key never seen before.
func GroupKeyUncached(e *Event) string { return e.groupKey(nil, Grouping) }

// GroupKeyV1Uncached is GroupKeyOf(1) as errlog computed it before
// grouping 2, without memory: the baseline of the benchmarks.
func GroupKeyV1Uncached(e *Event) string { return e.groupKey1(nil) }

// GroupKeyOfUncached is GroupKeyOf(v), v 2 or 3, without memory.
func GroupKeyOfUncached(e *Event, v int) string { return e.groupKey(nil, v) }
