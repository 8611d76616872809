from services.support.main import main

main()
