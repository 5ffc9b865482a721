package retention

import "os"

func pidOfThisTest() int { return os.Getpid() }
