package checker

// Len is how many connections the inventory holds so far.
func (inv *Inventory) Len() int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	n := 0
	for _, r := range inv.regions {
		n += len(r.conns)
	}
	return n
}
