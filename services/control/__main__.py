from services.control.main import main

main()
