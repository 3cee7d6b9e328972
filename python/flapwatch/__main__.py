from flapwatch.launch import console

console()
