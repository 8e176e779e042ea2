<?php
// A request that takes 200 ms: long enough to be in flight when a stop comes.
usleep(200000);
echo "done ", getmypid(), "\n";
