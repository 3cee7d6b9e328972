from flapwatch.cli import console

console()
