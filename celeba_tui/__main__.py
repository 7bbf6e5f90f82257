from celeba_tui.cli import main

main()
