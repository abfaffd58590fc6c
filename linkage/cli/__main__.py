from linkage.cli import main

main()
