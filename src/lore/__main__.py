from lore.cli.main import main

main()
