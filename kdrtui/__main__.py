from kdrtui.cli import main

main()
