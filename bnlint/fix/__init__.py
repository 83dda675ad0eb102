"""Building blocks of the rules' fixes and the checks every fix passes."""
