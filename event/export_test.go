package event

// GroupKeyUncached is GroupKeyOf(Grouping) without GroupKey's memory of
// recent keys: the cost of a key never seen before.
func GroupKeyUncached(e *Event) string { return e.groupKey2(nil) }
